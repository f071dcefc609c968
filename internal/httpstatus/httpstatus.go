// Package httpstatus maps domain error codes to HTTP status codes: the one
// place where that decision is made, for the API and the web pages alike.
package httpstatus

import (
	"net/http"

	"github.com/sportello/sportello/internal/desk"
)

// Of returns the HTTP status for a domain error code.
func Of(code desk.Code) int {
	switch code {
	case desk.EInvalid:
		return http.StatusBadRequest
	case desk.EUnauthorized:
		return http.StatusUnauthorized
	case desk.EForbidden:
		return http.StatusForbidden
	case desk.ENotFound:
		return http.StatusNotFound
	case desk.EConflict:
		return http.StatusConflict
	case desk.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case desk.ERateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
