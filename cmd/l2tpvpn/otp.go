package main

// One-time codes for servers with a second factor that want the code
// appended to the password (RADIUS back ends of Duo, AuthPoint and the
// like): otp gives the code, otp-format how it joins the password.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/l2tpvpn/l2tpvpn/secret"
)

// defaultOTPFormat is the common RADIUS form: password, comma, code.
const defaultOTPFormat = "{password},{otp}"

const (
	otpHelp       = "one-time code for a second factor, joined to the password as otp-format says: env:VAR, file:PATH or prompt (a secret like the password; a reconnect sends the same code again)"
	otpFormatHelp = "how the PPP password is made from password and otp: {password} and {otp} stand for them, e.g. \"{password}{otp}\" or \"{otp}\""
)

// checkOTPFormat says what is wrong with an otp-format.
func checkOTPFormat(format string) error {
	if !strings.Contains(format, "{otp}") {
		return errors.New("must contain {otp}")
	}
	rest := strings.ReplaceAll(strings.ReplaceAll(format, "{password}", ""), "{otp}", "")
	if i := strings.IndexAny(rest, "{}"); i >= 0 {
		return fmt.Errorf("%q: only {password} and {otp} are replaced (a literal brace is not allowed)", format)
	}
	return nil
}

// joinOTP builds the PPP password from the format. The result is a new
// secret; the intermediate buffer is cleared.
func joinOTP(format string, password, otp secret.Secret) (secret.Secret, error) {
	if err := checkOTPFormat(format); err != nil {
		return secret.Secret{}, err
	}
	pw, code := password.Bytes(), otp.Bytes()
	defer clear(pw)
	defer clear(code)
	var b bytes.Buffer
	for len(format) > 0 {
		switch {
		case strings.HasPrefix(format, "{password}"):
			b.Write(pw)
			format = format[len("{password}"):]
		case strings.HasPrefix(format, "{otp}"):
			b.Write(code)
			format = format[len("{otp}"):]
		default:
			b.WriteByte(format[0])
			format = format[1:]
		}
	}
	s := secret.New(b.Bytes())
	clear(b.Bytes()[:cap(b.Bytes())])
	return s, nil
}

// otpPassword returns the PPP password: the password itself, or joined with
// the one-time code.
func (o *connectOpts) otpPassword(s *resolvedSecrets) (secret.Secret, error) {
	if s.OTP.IsZero() {
		if o.set("otp-format") {
			return secret.Secret{}, o.keyErrf("otp-format", "is set but otp is not")
		}
		return s.Password, nil
	}
	p, err := joinOTP(o.otpFormat, s.Password, s.OTP)
	if err != nil {
		return secret.Secret{}, o.keyErr("otp-format", err)
	}
	return p, nil
}
