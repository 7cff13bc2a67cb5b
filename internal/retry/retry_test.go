package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoffIsCappedWithJitter(t *testing.T) {
	for n := 1; n < 70; n++ {
		d := Backoff(n, 100*time.Millisecond, time.Second)
		want := min(100*time.Millisecond<<min(n-1, 10), time.Second)
		if d < want/2 || d > want {
			t.Errorf("Backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(100)
	start := time.Now()
	for range 6 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 45*time.Millisecond {
		t.Errorf("6 requests at 100/s took %v", el)
	}
	var none *Limiter
	if NewLimiter(0) != nil || none.Wait(context.Background()) != nil {
		t.Error("a nil limiter must not wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep on a cancelled context: %v", err)
	}
}
