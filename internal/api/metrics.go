package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	// series caches the children of requests and duration by route and
	// status, sparing the label hashing on every request.
	series sync.Map // seriesKey -> *seriesVal
}

type seriesKey struct {
	route  string
	status int
}

type seriesVal struct {
	count prometheus.Counter
	dur   prometheus.Observer
}

// newMetrics registers the HTTP metrics, the label index gauges and, on a
// registry of its own, the Go and process collectors.
func newMetrics(reg prometheus.Registerer, own bool, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "chaintrace", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "chaintrace", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and status code.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "chaintrace", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	cs := []prometheus.Collector{
		m.requests, m.duration, m.inFlight,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "chaintrace", Subsystem: "labels", Name: "index_labels",
			Help: "Active labels in the screening index.",
		}, func() float64 { return float64(s.screener.Index().Labels()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "chaintrace", Subsystem: "labels", Name: "index_addresses",
			Help: "Labelled addresses in the screening index.",
		}, func() float64 { return float64(s.screener.Index().Len()) }),
	}
	if own {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	reg.MustRegister(cs...)
	return m
}

// observe counts a served request and its duration.
func (m *metrics) observe(route string, status int, d time.Duration) {
	k := seriesKey{route, status}
	v, ok := m.series.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(k, &seriesVal{
			count: m.requests.WithLabelValues(route, code),
			dur:   m.duration.WithLabelValues(route, code),
		})
	}
	sv := v.(*seriesVal)
	sv.count.Inc()
	sv.dur.Observe(d.Seconds())
}
