package mmclient

import "time"

// SetTLSRecorderClock makes r read the time from now (for tests that move
// the clock past a certificate's NotAfter).
func SetTLSRecorderClock(r *TLSRecorder, now func() time.Time) { r.now = now }
