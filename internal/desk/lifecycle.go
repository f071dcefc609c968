package desk

// transitions lists the allowed status changes. Everything else is refused
// with EConflict. Reopening is allowed from resolved and closed (a reply to a
// closed ticket may reopen it), and from cancelled/redirected by staff.
var transitions = map[Status][]Status{
	StatusNew:              {StatusOpen, StatusWaitingRequester, StatusWaitingSupplier, StatusResolved, StatusCancelled, StatusRedirected},
	StatusOpen:             {StatusWaitingRequester, StatusWaitingSupplier, StatusResolved, StatusCancelled, StatusRedirected},
	StatusWaitingRequester: {StatusOpen, StatusWaitingSupplier, StatusResolved, StatusCancelled, StatusRedirected},
	StatusWaitingSupplier:  {StatusOpen, StatusWaitingRequester, StatusResolved, StatusCancelled},
	StatusResolved:         {StatusClosed, StatusOpen},
	StatusClosed:           {StatusOpen},
	StatusCancelled:        {StatusOpen},
	StatusRedirected:       {StatusOpen},
}

// CanTransition reports whether a ticket may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// NextStatuses lists the statuses a ticket in status s may move to.
func NextStatuses(s Status) []Status { return append([]Status(nil), transitions[s]...) }

// requesterTransitions are the moves a requester may make on their own
// ticket: confirm or reopen a resolution, withdraw a request.
func requesterMayTransition(from, to Status) bool {
	switch {
	case from == StatusResolved && (to == StatusClosed || to == StatusOpen):
		return true
	case to == StatusCancelled && from.Open():
		return true
	}
	return false
}
