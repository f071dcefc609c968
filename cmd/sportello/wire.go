package main

import (
	"github.com/sportello/sportello/internal/app"
)

// wire mounts the surfaces and jobs that serve runs beyond the API.
func wire(a *app.App) error {
	return nil
}
