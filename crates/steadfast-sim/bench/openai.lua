wrk.method = "POST"
wrk.body   = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello load test world"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-load"
