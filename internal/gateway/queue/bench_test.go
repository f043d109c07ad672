package queue

import (
	"bytes"
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAppendConcurrent measures durable appends (commit + fsync) from
// 50 concurrent writers, the shape of ingestd under wrk -c50. It reports
// how many appends shared each commit.
func BenchmarkAppendConcurrent(b *testing.B) {
	q := openTest(b, b.TempDir(), 1<<34)
	body := bytes.Repeat([]byte("x"), 296)
	ctx := context.Background()
	var seq atomic.Int64
	before := q.commits.Load()
	cpu0 := processCPU(b)
	b.SetParallelism(max(50/max(b.N, 1), 25)) // 25 x GOMAXPROCS(2) = 50 writers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			err := q.Append(ctx, Batch{ID: NewID(time.Now()), Device: "bench-1", Records: 1, Body: body, ReceivedAt: time.Unix(0, n)})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/append")
	if c := q.commits.Load() - before; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "appends/commit")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(c), "µs/commit")
	}
}

// processCPU is the user and system CPU time the test process used so far.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
