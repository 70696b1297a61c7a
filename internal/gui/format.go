package gui

import (
	"fmt"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dirconn/dirconn/internal/connector"
)

// syncState says in words, and an importance (colour), what the connector is doing.
func syncState(st connector.Status) (string, widget.Importance) {
	switch {
	case !st.LoggedIn:
		return "Not logged in", widget.MediumImportance
	case st.Running:
		return "Syncing…", widget.HighImportance
	case st.Held != nil && len(st.Held.Removals) > 0:
		return "Removals held", widget.WarningImportance
	case st.LastError != "":
		return "Last sync failed", widget.DangerImportance
	case st.Scheduled:
		return "Syncing every " + formatInterval(st.Interval), widget.SuccessImportance
	}
	return "Interval sync stopped", widget.MediumImportance
}

// importanceColor is the theme colour of an importance.
func importanceColor(i widget.Importance) color.Color {
	switch i {
	case widget.SuccessImportance:
		return theme.Color(theme.ColorNameSuccess)
	case widget.WarningImportance:
		return theme.Color(theme.ColorNameWarning)
	case widget.DangerImportance:
		return theme.Color(theme.ColorNameError)
	case widget.HighImportance:
		return theme.Color(theme.ColorNamePrimary)
	}
	return theme.Color(theme.ColorNameDisabled)
}

// formatInterval prints 5m0s as "5 minutes", 1h0m0s as "hour".
func formatInterval(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d%time.Hour == 0 && d >= time.Hour:
		if d == time.Hour {
			return "hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute", "minutes")
	}
	return d.String()
}

// formatTime prints a time for people: "Today 14:05", "Yesterday 09:12", "3 Mar 2026 16:40"; "Never" for nil.
func formatTime(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "Never"
	}
	l := t.Local()
	y, m, d := l.Date()
	ny, nm, nd := now.Local().Date()
	switch {
	case y == ny && m == nm && d == nd:
		return "Today " + l.Format("15:04")
	case y == ny && m == nm && d == nd-1:
		return "Yesterday " + l.Format("15:04")
	}
	return l.Format("2 Jan 2006 15:04")
}

// shortOrg shortens organization.<guid> to its first GUID part.
func shortOrg(clientID string) string {
	id := strings.TrimPrefix(clientID, "organization.")
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i] + "…"
	}
	return id
}

// oneLine keeps the first line of s, cut to at most n characters.
func oneLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// plural prints "1 user", "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
