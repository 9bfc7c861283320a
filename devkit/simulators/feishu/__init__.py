"""Feishu / Lark (飞书): one tenant's side of Feishu, its client panel and the seed guide played against it."""
