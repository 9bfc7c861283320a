"""Deploy-time tooling (never packaged into the Lambda functions)."""
