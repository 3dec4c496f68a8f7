package main

import (
	"github.com/nettest/nettest/vantage"
)

func cmdAgent(args []string, c cli) int {
	return vantage.AgentMain(args, c.stdin, c.stdout, c.stderr, buildVersion())
}
