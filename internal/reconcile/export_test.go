package reconcile

// Test hooks: white-box access for the black-box tests of package reconcile_test.

// NewSessionWithLimitsForTest is NewSessionFrom with smaller message limits, to
// exercise deferral: budget is where answers stop, limit the size past which
// deferred ranges merge, maxRanges the most ranges in a message.
func NewSessionWithLimitsForTest(set *Set, from string, budget, limit, maxRanges int) *Session {
	s := NewSessionFrom(set, from)
	s.side.p = params{budget: budget, limit: limit, maxRanges: maxRanges}
	return s
}

// RespondWithLimitsForTest is Respond with smaller message limits.
func RespondWithLimitsForTest(set *Set, msg []byte, budget, limit, maxRanges int) ([]byte, error) {
	in, err := decodeMessage(msg)
	if err != nil {
		return nil, err
	}
	sd := side{set: set, p: params{budget: budget, limit: limit, maxRanges: maxRanges}}
	return sd.answer(in)
}

// ReencodeForTest decodes a message and encodes it again, with the number of
// ranges it holds.
func ReencodeForTest(msg []byte) ([]byte, int, error) {
	spans, err := decodeMessage(msg)
	if err != nil {
		return nil, 0, err
	}
	return encodeMessage(spans), len(spans), nil
}

// Mode names for hand-made messages.
const (
	ModeSkip        = byte(modeSkip)
	ModeFingerprint = byte(modeFingerprint)
	ModeDigests     = byte(modeDigests)
	ModeItems       = byte(modeItems)
	ModeDiff        = byte(modeDiff)
	ModeAgain       = byte(modeAgain)
)

// MaxMessageSizeForTest is the largest message the package sends.
const MaxMessageSizeForTest = maxMessageSize
