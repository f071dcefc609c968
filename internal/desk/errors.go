// Package desk is the domain at the centre of Sportello: organisations,
// people and roles, tickets with their lifecycle and history, and the
// services that web pages, the REST API and inbound mail all call. It imports
// no adapter; storage implements the Store interface declared here.
package desk

import (
	"errors"
	"fmt"
)

// Code classifies an error. The HTTP layers map codes to status codes in one
// place; the strings are part of the public API contract.
type Code string

const (
	EInvalid      Code = "invalid_request"
	EUnauthorized Code = "unauthorized"
	EForbidden    Code = "forbidden"
	ENotFound     Code = "not_found"
	EConflict     Code = "conflict"
	ETooLarge     Code = "too_large"
	ERateLimited  Code = "rate_limited"
	EInternal     Code = "internal"
)

// Error is the one domain error type. Message is safe to show to the caller;
// Err (if any) is the underlying cause, for logs only.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError reports an invalid field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EInternal for foreign errors and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the human message of err; internal errors get a
// generic text so that details never leak to callers.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err is a not-found domain error.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }
