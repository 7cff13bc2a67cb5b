// Package alert delivers the monitor's alerts: it lists them, keeps the
// webhook targets (validated: http or https, no loopback, private or
// link-local address unless allowed), and runs the deliverer that moves
// alerts from a chain store's outbox to every target, HMAC-signed, with
// an idempotency key, retries with exponential backoff and jitter, and a
// dead-letter list after the last retry.
package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chaintrace/chaintrace/internal/monitor"
)

// ErrTarget is wrapped by the errors of refused webhook targets.
var ErrTarget = errors.New("alert: webhook target refused")

// Webhook is a delivery target. Secret keys the HMAC-SHA256 signature of
// every body it is sent.
type Webhook struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	Secret       string `json:"secret"`
	AllowPrivate bool   `json:"allow_private,omitempty"`
}

// Headers of a delivery.
const (
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of the
	// body under the webhook's secret.
	HeaderSignature = "X-Chaintrace-Signature"
	// HeaderIdempotency carries the alert id: a receiver that has seen it
	// drops the delivery, which makes redeliveries after a restart safe.
	HeaderIdempotency = "Idempotency-Key"
)

// Sign returns the value of HeaderSignature for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of body under secret, in
// constant time: what a receiver does.
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckTarget validates a webhook URL: http or https with a host, and
// unless allowPrivate, every address the host resolves to public (not
// loopback, private, link-local, CGNAT, unspecified or multicast). r nil
// means the system resolver.
func CheckTarget(ctx context.Context, raw string, allowPrivate bool, r Resolver) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: url %q: %w", ErrTarget, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: url %q: scheme %q, want http or https", ErrTarget, raw, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: url %q: no host", ErrTarget, raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: url %q: bad port %q", ErrTarget, raw, p)
		}
	}
	if allowPrivate {
		return nil
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		if r == nil {
			r = net.DefaultResolver
		}
		if ips, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return fmt.Errorf("%w: url %q: host %s does not resolve: %w", ErrTarget, raw, host, err)
		}
	}
	for _, ip := range ips {
		if private(ip) {
			return fmt.Errorf("%w: url %q: host %s is at %s, a loopback, private or link-local address (use --allow-private for a receiver on your own network)", ErrTarget, raw, host, ip)
		}
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// private reports whether ip is not a public unicast address.
func private(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// WebhooksPath is the webhook list's file under a data directory.
func WebhooksPath(data string) string { return filepath.Join(monitor.Dir(data), "webhooks.json") }

// webhookList is the content of webhooks.json.
type webhookList struct {
	Next     int       `json:"next"`
	Webhooks []Webhook `json:"webhooks"`
}

// AddWebhook validates a target and adds it to the list under data.
func AddWebhook(ctx context.Context, data, rawURL, secret string, allowPrivate bool) (Webhook, error) {
	if strings.TrimSpace(secret) == "" {
		return Webhook{}, fmt.Errorf("%w: a secret is needed to sign deliveries", ErrTarget)
	}
	if err := CheckTarget(ctx, rawURL, allowPrivate, nil); err != nil {
		return Webhook{}, err
	}
	h := Webhook{URL: rawURL, Secret: secret, AllowPrivate: allowPrivate}
	var l webhookList
	err := monitor.EditJSON(ctx, WebhooksPath(data), &l, func() error {
		if l.Next == 0 {
			l.Next = 1
		}
		h.ID = "h" + strconv.Itoa(l.Next)
		l.Next++
		l.Webhooks = append(l.Webhooks, h)
		return nil
	})
	return h, err
}

// RemoveWebhook removes a target; its pending deliveries go to the
// dead-letter list on the deliverer's next round.
func RemoveWebhook(ctx context.Context, data, id string) error {
	var l webhookList
	return monitor.EditJSON(ctx, WebhooksPath(data), &l, func() error {
		for i := range l.Webhooks {
			if l.Webhooks[i].ID == id {
				l.Webhooks = append(l.Webhooks[:i], l.Webhooks[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("alert: no webhook %q", id)
	})
}

// Webhooks returns the targets under data.
func Webhooks(data string) ([]Webhook, error) {
	var l webhookList
	_, err := monitor.ReadJSON(WebhooksPath(data), &l)
	return l.Webhooks, err
}
