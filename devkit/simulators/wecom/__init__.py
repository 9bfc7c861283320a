"""WeCom (企业微信): one corp's self-built app and a provider's suite, the client panel and the seed guide."""
