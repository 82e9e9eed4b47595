package sandbox

import (
	"bytes"
	"encoding/json"
)

// The recognisers of the files the sandbox writes where the user names them (--env-file,
// --world, --state, --request-log): uicctl sandbox replaces, loads or appends to only its
// own earlier output there, never a spec or a secrets file (internal/reportfile).

// IsEnvFile reports whether b is an env file the sandbox wrote (its first line says so).
func IsEnvFile(b []byte) bool { return bytes.HasPrefix(b, []byte(envFileMark)) }

// envFileMark starts every env file.
const envFileMark = "# uicctl sandbox at "

// IsWorldFile reports whether b is a world file: a JSON object with the operator and the
// tenants.
func IsWorldFile(b []byte) bool { return hasKeys(b, "operator", "tenants") }

// IsStateFile reports whether b is a state file (--state).
func IsStateFile(b []byte) bool { return hasKeys(b, "version", "world", "users") }

// IsRequestLog reports whether b is a request log: its first line is an entry.
func IsRequestLog(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return hasKeys(line, "method", "path", "status")
}

func hasKeys(b []byte, keys ...string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	for _, k := range keys {
		if _, ok := top[k]; !ok {
			return false
		}
	}
	return true
}
