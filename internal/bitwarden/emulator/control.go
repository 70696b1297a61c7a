package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// handleControl serves the emulator-only /__emulator/ routes listed in the package documentation.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	route := strings.TrimPrefix(r.URL.Path, "/__emulator/")
	method := map[string]string{
		"state": http.MethodGet, "imports": http.MethodGet, "reset": http.MethodPost,
		"revoke-tokens": http.MethodPost, "faults": http.MethodPost,
	}[route]
	switch {
	case method == "":
		http.NotFound(w, r)
		return
	case route == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
		return
	case r.Method != method:
		w.Header().Set("Allow", method)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch route {
	case "state":
		writeControlJSON(w, s.Snapshot())
	case "imports":
		writeControlJSON(w, s.Imports())
	case "reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "revoke-tokens":
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	case "faults":
		faults, err := decodeFaults(r)
		if err != nil {
			http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, f := range faults {
			s.InjectFault(f)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// decodeFaults reads one Fault or an array of them.
func decodeFaults(r *http.Request) ([]Fault, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		var faults []Fault
		err := json.Unmarshal(t, &faults)
		return faults, err
	}
	var f Fault
	err := json.Unmarshal(raw, &f)
	return []Fault{f}, err
}

func writeControlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(marshal(v))
}
