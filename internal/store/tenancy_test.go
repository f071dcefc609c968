package store_test

import (
	"testing"

	"github.com/sportello/sportello/internal/store/storetest"
)

func TestTenancySQLite(t *testing.T) { storetest.RunTenancy(t, storetest.OpenSQLite) }

func TestTenancyPostgres(t *testing.T) { storetest.RunTenancy(t, storetest.OpenPostgres) }
