package client

// The bounds on answers, for the tests.
const (
	MaxSmallAnswer = maxSmallAnswer
	MaxListAnswer  = maxListAnswer
	MaxAnswer      = maxAnswer
	IDsBuffer      = idsBuffer
)
