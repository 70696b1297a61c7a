package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/dirconn/dirconn/internal/directory"
)

// searcher is the part of *goldap.Conn the reads use: a search whose results stream through a channel.
// Tests replace it to play servers the real ones cannot (unasked ranges, referrals, failing pages).
type searcher interface {
	SearchAsync(ctx context.Context, req *goldap.SearchRequest, bufferSize int) goldap.Response
	// IsClosing reports whether the connection is closed or closing. go-ldap's SearchAsync on a closed
	// connection ends without an error, which would read as an empty last page.
	IsClosing() bool
}

// searchBuffer is how many results go-ldap may hold between the connection and our loop.
const searchBuffer = 64

// search runs req, paged (RFC 2696, a loop of our own over the cookie) or not, calling onEntry for every
// entry as it arrives; entries are not kept. It returns the read's record: Finished is false when a
// server limit (size, time, administrative) stopped the search or a referral was not followed, with
// the reason. It returns an error when a page fails otherwise, or ctx ends.
func (r *reader) search(ctx context.Context, what, baseKey string, req *goldap.SearchRequest, paged bool, onEntry func(*goldap.Entry)) (directory.Read, error) {
	read := directory.Read{What: what}
	base := req.Controls
	var cookie []byte
	var referrals []string
	for {
		req.Controls = append([]goldap.Control(nil), base...)
		if paged {
			pc := goldap.NewControlPaging(uint32(r.s.pageSize))
			pc.SetCookie(cookie)
			req.Controls = append(req.Controls, pc)
		}
		entries, ctrls, refs, err := r.page(ctx, req, onEntry)
		read.Pages++
		read.Entries += entries
		referrals = append(referrals, refs...)
		if r.hookPage != nil {
			r.hookPage(what, read.Pages)
		}
		if err != nil {
			if ctx.Err() != nil {
				return read, fmt.Errorf("read %s: %w", what, ctx.Err())
			}
			reason, incomplete := limitReason(err, paged, r.s.pageSize, read)
			if !incomplete {
				return read, searchError(r.host, what, req.BaseDN, baseKey, paged, r.s.pageSize, read, err)
			}
			read.Reason = reason
			if refs := referralURLs(err); len(refs) > 0 {
				read.Reason = "the server referred the search to " + strings.Join(refs, ", ") + ", which dirconn does not follow"
			}
			r.log.Warn("ldap: read did not finish", "read", what, "reason", read.Reason, "entries", read.Entries)
			return read, nil
		}
		if !paged {
			break
		}
		pc, _ := goldap.FindControl(ctrls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if pc == nil || len(pc.Cookie) == 0 {
			// No control: the server ignored paging and answered in one go (a success result says so).
			break
		}
		cookie = pc.Cookie
		r.log.Debug("ldap: page read", "read", what, "page", read.Pages, "entries", read.Entries)
	}
	if len(referrals) > 0 {
		read.Reason = "the server referred part of the search to " + strings.Join(uniq(referrals), ", ") + ", which dirconn does not follow"
		r.log.Warn("ldap: read did not finish", "read", what, "reason", read.Reason, "entries", read.Entries)
		return read, nil
	}
	read.Finished = true
	return read, nil
}

// page runs one search request (one page) and streams its entries to onEntry.
func (r *reader) page(ctx context.Context, req *goldap.SearchRequest, onEntry func(*goldap.Entry)) (entries int, ctrls []goldap.Control, refs []string, err error) {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	var limit time.Duration
	if r.s.timeLimit > 0 {
		limit = r.s.timeLimit + r.s.timeout
		pctx, cancel = context.WithTimeout(ctx, limit)
	}
	defer cancel()
	resp := r.conn.SearchAsync(pctx, req, searchBuffer)
	for resp.Next() {
		switch e, ref := resp.Entry(), resp.Referral(); {
		case e != nil:
			entries++
			onEntry(e)
		case ref != "":
			refs = append(refs, ref)
		default:
			if c := resp.Controls(); len(c) > 0 {
				ctrls = c
			}
		}
	}
	err = resp.Err()
	if err == nil && pctx.Err() == nil && r.conn.IsClosing() {
		err = goldap.NewError(goldap.ErrorNetwork, errors.New("the connection is closed"))
	}
	if err == nil && pctx.Err() != nil {
		// go-ldap ends a cancelled search without an error: say why it stopped.
		if ctx.Err() != nil {
			err = ctx.Err()
		} else {
			err = newError(pctx.Err(), fmt.Sprintf("%s did not finish a page within %s (ldap.searchTimeLimit + ldap.timeout)", r.host, limit),
				directory.ErrUnreachable)
		}
	}
	return entries, ctrls, refs, err
}

// limitReason reports whether err is a server limit that ends the read early but lets what was read so
// far stand (the read is then incomplete), and why.
func limitReason(err error, paged bool, pageSize int, read directory.Read) (string, bool) {
	var le *goldap.Error
	if !errors.As(err, &le) {
		return "", false
	}
	switch le.ResultCode {
	case goldap.LDAPResultSizeLimitExceeded:
		if paged {
			return fmt.Sprintf("the server's size limit stopped the paged search after %d entries (LDAP result 4: %s); raise the bind account's limit",
				read.Entries, ldapMessage(err)), true
		}
		return fmt.Sprintf("the server's size limit stopped the unpaged search after %d entries (LDAP result 4); turn on ldap.pagedSearch",
			read.Entries), true
	case goldap.LDAPResultTimeLimitExceeded:
		return fmt.Sprintf("the search time limit stopped the search after %d entries (LDAP result 3: %s); raise ldap.searchTimeLimit or simplify the filter",
			read.Entries, ldapMessage(err)), true
	case goldap.LDAPResultAdminLimitExceeded:
		if paged && read.Pages == 1 && read.Entries == 0 {
			return "", false // refused outright: an error (see searchError)
		}
		return fmt.Sprintf("an administrative limit of the server stopped the search after %d entries (LDAP result 11: %s)",
			read.Entries, ldapMessage(err)), true
	case goldap.LDAPResultReferral:
		return "the server referred the search elsewhere (LDAP result 10), which dirconn does not follow", true
	}
	return "", false
}

// referralURLs returns the referral URLs of an LDAP result (RFC 4511 4.1.9), if err carries any.
func referralURLs(err error) []string {
	var le *goldap.Error
	if !errors.As(err, &le) || le.Packet == nil || len(le.Packet.Children) < 2 {
		return nil
	}
	var out []string
	for _, c := range le.Packet.Children[1].Children {
		if c.ClassType == ber.ClassContext && c.Tag == 3 {
			for _, u := range c.Children {
				if s, ok := u.Value.(string); ok && s != "" {
					out = append(out, s)
				} else if u.Data != nil && u.Data.Len() > 0 {
					out = append(out, u.Data.String())
				}
			}
		}
	}
	return out
}

// searchError explains a search that failed.
func searchError(h hostPort, what, base, baseKey string, paged bool, pageSize int, read directory.Read, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return newError(e.Cause, "read "+what+": "+e.Msg, e.Kinds...)
	}
	var le *goldap.Error
	if !errors.As(err, &le) {
		// go-ldap returns its connection's read error as it is.
		le = &goldap.Error{ResultCode: goldap.ErrorNetwork, Err: err}
	}
	msg := ldapMessage(le)
	switch le.ResultCode {
	case goldap.LDAPResultNoSuchObject:
		s := fmt.Sprintf("read %s: the search base %q does not exist (it comes from %s)", what, base, baseKey)
		if le.MatchedDN != "" {
			s += fmt.Sprintf("; the closest entry that exists is %q", le.MatchedDN)
		}
		return newError(err, s, directory.ErrConfig)
	case goldap.LDAPResultInvalidDNSyntax:
		return newError(err, fmt.Sprintf("read %s: the search base %q is not a valid DN (it comes from %s): %s", what, base, baseKey, msg), directory.ErrConfig)
	case goldap.LDAPResultInsufficientAccessRights:
		return newError(err, fmt.Sprintf("read %s: the bind account (ldap.username) may not search %q: %s", what, base, msg), directory.ErrAuth)
	case goldap.LDAPResultOperationsError:
		if strings.Contains(msg, "successful bind") {
			return newError(err, fmt.Sprintf("read %s: the server wants a successful bind first: %s", what, msg), directory.ErrAuth)
		}
	case goldap.LDAPResultAdminLimitExceeded:
		if paged {
			return newError(err, fmt.Sprintf("read %s: the server refused the paged search (LDAP result 11 admin limit exceeded: %s); ldap.pageSize is %d, which may be above the server's limit: lower it",
				what, msg, pageSize), directory.ErrConfig)
		}
	case goldap.LDAPResultFilterError, goldap.ErrorFilterCompile:
		return newError(err, fmt.Sprintf("read %s: the server refused the filter: %s", what, msg), directory.ErrFilter)
	case goldap.LDAPResultUnavailableCriticalExtension:
		return newError(err, fmt.Sprintf("read %s: the server does not support a control the read needs (%s)", what, msg), directory.ErrConfig)
	case goldap.ErrorNetwork:
		return newError(err, fmt.Sprintf("read %s: the connection to %s broke after %d entries in %d pages: %s", what, h, read.Entries, read.Pages, msg),
			directory.ErrUnreachable)
	}
	return newError(err, fmt.Sprintf("read %s: LDAP result %d %s: %s", what, le.ResultCode, goldap.LDAPResultCodeMap[le.ResultCode], msg))
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
