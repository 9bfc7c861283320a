"""DingTalk (钉钉): one org's side of DingTalk, its client panel and the seed guide played against it."""
