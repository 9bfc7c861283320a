"""Stand-ins for DingTalk, Feishu and WeCom servers used in local runs and end-to-end tests."""
