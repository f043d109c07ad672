-- wrk script: the same authenticated ~300-byte JSON POST for ingestd and nginx.
-- The bearer token comes from the environment (BENCH_TOKEN), set by run.sh.
wrk.method = "POST"
wrk.body = '{"device":"bench-1","ts":"2026-01-02T03:04:05.678Z","seq":123456,"site":"plant-7/line-3","readings":{"temperature_c":21.53,"humidity_pct":40.2,"pressure_hpa":1013.25,"vibration_mm_s":0.82,"current_a":3.91},"status":"ok","firmware":"2.14.3","battery_pct":87,"tags":["bench","loopback","hardgate"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
