package main

import (
	"io"

	"github.com/nettest/nettest/vantage"
)

func cmdAgent(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return vantage.AgentMain(args, stdin, stdout, stderr, buildVersion())
}
