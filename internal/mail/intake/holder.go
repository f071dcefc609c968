package intake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
)

// holder names this process in leases: host, pid and a random suffix, so
// that a restarted process never mistakes an old lease for its own.
func holder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
