"""Repositories over DynamoDB: nothing outside this package builds expressions or touches raw items."""
