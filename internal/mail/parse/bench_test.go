package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadCorpus(b *testing.B) [][]byte {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus: %v", err)
	}
	var corpus [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		corpus = append(corpus, raw)
	}
	return corpus
}

// BenchmarkParse parses every message of the corpus per iteration and
// reports messages per second (the intake target is 300 msgs/s end to end).
func BenchmarkParse(b *testing.B) {
	b.Run("corpus", func(b *testing.B) {
		corpus := loadCorpus(b)
		total := 0
		for _, raw := range corpus {
			total += len(raw)
		}
		b.SetBytes(int64(total))
		b.ReportAllocs()
		msgs := 0
		for b.Loop() {
			for _, raw := range corpus {
				_, _ = Parse(raw, Options{CIDURL: cidURL})
				msgs++
			}
		}
		b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("attachment_5MiB", func(b *testing.B) {
		var sb strings.Builder
		sb.WriteString("From: m@example.it\r\nSubject: scansione\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nIn allegato.\r\n--b\r\nContent-Type: application/pdf; name=s.pdf\r\n" +
			"Content-Transfer-Encoding: base64\r\n\r\n")
		line := strings.Repeat("JVBERi0x", 9) + "LjQK\r\n"
		for sb.Len() < 5<<20 {
			sb.WriteString(line)
		}
		sb.WriteString("--b--\r\n")
		raw := []byte(sb.String())
		b.SetBytes(int64(len(raw)))
		msgs := 0
		for b.Loop() {
			if _, err := Parse(raw, Options{}); err != nil {
				b.Fatal(err)
			}
			msgs++
		}
		b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	})
}
