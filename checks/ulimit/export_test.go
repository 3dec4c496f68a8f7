package ulimit

// StartProbe is startProbe, for the package's external tests: they need a
// process with known limits too.
var StartProbe = startProbe
