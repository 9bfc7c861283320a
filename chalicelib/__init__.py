"""dutybridge: incident cards for DingTalk, Feishu and WeCom, deployed with Chalice."""
