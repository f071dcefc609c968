package mailbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// userinfoRE matches the user:password@ part of URLs in free text.
var userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s/]*@`)

// sealPrefix marks a password sealed with the secret key (AES-256-GCM with a
// key derived by HKDF-SHA256 from the installation's secret key).
const sealPrefix = "v1:"

// Sealer encrypts mailbox passwords at rest with a key derived from the
// installation's secret key. Every replica sharing the secret key can open
// what another sealed.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the sealing key from the secret key.
func NewSealer(secretKey []byte) (*Sealer, error) {
	if len(secretKey) < 16 {
		return nil, errors.New("secret key too short to seal mailbox passwords")
	}
	k, err := hkdf.Key(sha256.New, secretKey, nil, "sportello mailbox password v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts a password. context binds the result to its use (such as
// "imap assistenza@desk.example.it"), so that a sealed value copied to
// another mailbox or endpoint does not open.
func (s *Sealer) Seal(p Secret, context string) (string, error) {
	if p == "" {
		return "", nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(p), []byte(context))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the password a stored secret stands for: it decrypts sealed
// values and reads env:NAME references from the environment. An empty
// stored value is an empty password (no authentication).
func (s *Sealer) Open(stored, context string) (Secret, error) {
	switch {
	case stored == "":
		return "", nil
	case strings.HasPrefix(stored, "env:"):
		name := strings.TrimPrefix(stored, "env:")
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("the password is taken from the environment variable %s, which is not set in this process", name)
		}
		return Secret(v), nil
	case strings.HasPrefix(stored, sealPrefix):
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(stored, sealPrefix))
		ns := s.aead.NonceSize()
		if err != nil || len(b) < ns {
			return "", errors.New("the stored mailbox password is damaged: set it again with sportello mailbox add")
		}
		p, err := s.aead.Open(nil, b[:ns], b[ns:], []byte(context))
		if err != nil {
			return "", errors.New("the stored mailbox password cannot be opened with this secret key (was SPORTELLO_SECRET_KEY changed?): set it again with sportello mailbox add")
		}
		return Secret(p), nil
	}
	return "", errors.New("unknown stored password format")
}

// Seal contexts bind a sealed password to its mailbox and endpoint.
func imapContext(address string) string { return "imap " + address }
func smtpContext(address string) string { return "smtp " + address }

// IMAPPassword opens the mailbox's IMAP password.
func (m Mailbox) IMAPPassword(s *Sealer) (Secret, error) {
	if m.IMAP.Secret == "" {
		return "", nil
	}
	if s == nil {
		return "", errors.New("no secret key to open the IMAP password")
	}
	return s.Open(m.IMAP.Secret, imapContext(m.Address))
}

// SMTPPassword opens the mailbox's SMTP password.
func (m Mailbox) SMTPPassword(s *Sealer) (Secret, error) {
	if m.SMTP.Secret == "" {
		return "", nil
	}
	if s == nil {
		return "", errors.New("no secret key to open the SMTP password")
	}
	return s.Open(m.SMTP.Secret, smtpContext(m.Address))
}

// SetPasswords seals the clear passwords into the endpoints (an empty
// password keeps what the endpoint already holds, such as env:NAME).
func (m *Mailbox) SetPasswords(s *Sealer, imapPass, smtpPass Secret) error {
	var err error
	if imapPass != "" {
		if m.IMAP.Secret, err = s.Seal(imapPass, imapContext(m.Address)); err != nil {
			return err
		}
	}
	if smtpPass != "" {
		if m.SMTP.Secret, err = s.Seal(smtpPass, smtpContext(m.Address)); err != nil {
			return err
		}
	}
	return nil
}
