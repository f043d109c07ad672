-- wrk script of the batch scenario (SCENARIO=batch bench/ingestd/run.sh):
-- the same NDJSON body of 100 records (~30 KB) for every server, from the
-- file run.sh wrote (BENCH_BODY_FILE), and its bearer token (BENCH_TOKEN).
local f = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = assert(os.getenv("BENCH_CONTENT_TYPE"), "BENCH_CONTENT_TYPE is not set")
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
