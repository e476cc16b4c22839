package crdt

import (
	"math"
	"math/big"
)

// fixed is an exact sum of finite float64s, kept as the integer n such that the sum is
// n × 2^-1074. Every finite float64 is an integer multiple of 2^-1074 (the smallest
// subnormal) and below 2^1024, so it converts to such an integer of at most 2098 bits
// exactly, and integer addition is associative: the sum does not depend on the order
// of the additions, unlike float64 addition. A nil *fixed is zero. A fixed is never
// mutated once made, so FieldStates holding one can be copied freely.
type fixed big.Int

const (
	fixedScale = 1074 // the sum is n × 2^-fixedScale
	// maxFixedBytes bounds the magnitude of an encoded sum: 2098 bits for one float64,
	// plus 64 bits of carries for up to 2^64 additions.
	maxFixedBytes = (1024 + fixedScale + 64 + 7) / 8
)

// scaled returns x × 2^1074 as an integer; x must be finite.
func scaled(x float64) *big.Int {
	bits := math.Float64bits(x)
	exp := int(bits>>52) & 0x7ff
	mant := bits & (1<<52 - 1)
	shift := 0
	if exp != 0 { // normal: (2^52 + mant) × 2^(exp-1075); subnormal: mant × 2^-1074
		mant |= 1 << 52
		shift = exp - 1
	}
	n := new(big.Int).SetUint64(mant)
	n.Lsh(n, uint(shift))
	if bits>>63 != 0 {
		n.Neg(n)
	}
	return n
}

// add returns f + x as a new fixed.
func (f *fixed) add(x float64) *fixed {
	n := scaled(x)
	if f != nil {
		n.Add(n, (*big.Int)(f))
	}
	return (*fixed)(n)
}

// float64 rounds f to the nearest float64 (ties to even); beyond the float64 range it
// saturates at ±math.MaxFloat64, so the result is always finite.
func (f *fixed) float64() float64 {
	x, _ := f.round()
	return x
}

// round is float64, and reports whether f is beyond the float64 range: it
// rounds to an infinity, and float64 gives ±math.MaxFloat64 instead.
func (f *fixed) round() (x float64, beyond bool) {
	if f == nil {
		return 0, false
	}
	var v big.Float
	v.SetInt((*big.Int)(f)) // exact: SetInt uses as much precision as the integer has
	v.SetMantExp(&v, -fixedScale)
	x, _ = v.Float64()
	switch {
	case math.IsInf(x, 1):
		return math.MaxFloat64, true
	case math.IsInf(x, -1):
		return -math.MaxFloat64, true
	}
	return x, false
}

// parts encodes f canonically as m × 2^e with m odd (or m = 0 and e = 0): m as a sign
// byte (0 for ≥ 0, 1 for < 0) followed by |m| big-endian without leading zeros (so
// zero is the single byte 0), e between -1074 and the bit length of the largest sum.
// Dropping the trailing zero bits keeps sums of ordinary numbers short.
func (f *fixed) parts() (m []byte, e int64) {
	if f == nil || (*big.Int)(f).Sign() == 0 {
		return []byte{0}, 0
	}
	n := (*big.Int)(f)
	tz := n.TrailingZeroBits()
	mag := new(big.Int).Abs(n)
	mag.Rsh(mag, tz)
	sign := byte(0)
	if n.Sign() < 0 {
		sign = 1
	}
	return append([]byte{sign}, mag.Bytes()...), int64(tz) - fixedScale
}

// fixedFromParts decodes the output of parts, refusing any other form.
func fixedFromParts(m []byte, e int64) (*fixed, bool) {
	if len(m) == 0 || len(m) > 1+maxFixedBytes || m[0] > 1 || e < -fixedScale || e > maxFixedBytes*8 {
		return nil, false
	}
	mag := m[1:]
	if len(mag) == 0 { // zero
		return (*fixed)(new(big.Int)), m[0] == 0 && e == 0
	}
	if mag[0] == 0 || mag[len(mag)-1]&1 == 0 {
		return nil, false // leading zero byte, or even mantissa
	}
	n := new(big.Int).SetBytes(mag)
	n.Lsh(n, uint(e+fixedScale))
	if n.BitLen() > maxFixedBytes*8 {
		return nil, false
	}
	if m[0] == 1 {
		n.Neg(n)
	}
	return (*fixed)(n), true
}
