package web

import (
	"os"
	"testing"

	"sitrep/models/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
