package httpapi

import "time"

// SetKeepAlive makes h's streams write a keep-alive comment after d of
// silence instead of KeepAliveInterval. Call it before h serves.
func SetKeepAlive(h *Handler, d time.Duration) { h.s.keepAlive = d }

// SetBodyReadTimeout makes h bound the time of bodies and answers by d instead
// of Options.BodyReadTimeout, even below MinBodyReadTimeout, so that tests of
// that bound need not wait a second or more. Call it before h serves.
func SetBodyReadTimeout(h *Handler, d time.Duration) { h.s.bodyTimeout = d }
