wrk.method = "POST"
wrk.body   = '{"model":"claude-3-5-sonnet-latest","max_tokens":64,"messages":[{"role":"user","content":"hello load test world"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "sk-load"
wrk.headers["anthropic-version"] = "2023-06-01"
