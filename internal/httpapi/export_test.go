package httpapi

import "time"

// SetKeepAlive makes h's streams write a keep-alive comment after d of
// silence instead of KeepAliveInterval. Call it before h serves.
func SetKeepAlive(h *Handler, d time.Duration) { h.s.keepAlive = d }
