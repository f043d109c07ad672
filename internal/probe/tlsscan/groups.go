package tlsscan

import "fmt"

// Group is a named group for key exchange (supported_groups code point).
type Group struct {
	ID   uint16 `json:"id"`
	Name string `json:"name"`
	// Bits is the security-relevant size: the field size of a curve or the
	// prime size of an FFDHE group.
	Bits int `json:"bits"`
}

// groups is offered in supported_groups, strongest and most common first.
var groups = []Group{
	{0x001d, "x25519", 253},
	{0x0017, "secp256r1", 256},
	{0x001e, "x448", 448},
	{0x0018, "secp384r1", 384},
	{0x0019, "secp521r1", 521},
	{0x11ec, "X25519MLKEM768", 253},
	{0x11eb, "SecP256r1MLKEM768", 256},
	{0x001f, "brainpoolP256r1tls13", 256},
	{0x0020, "brainpoolP384r1tls13", 384},
	{0x0021, "brainpoolP512r1tls13", 512},
	{0x001a, "brainpoolP256r1", 256},
	{0x001b, "brainpoolP384r1", 384},
	{0x001c, "brainpoolP512r1", 512},
	{0x0100, "ffdhe2048", 2048},
	{0x0101, "ffdhe3072", 3072},
	{0x0102, "ffdhe4096", 4096},
	{0x0103, "ffdhe6144", 6144},
	{0x0104, "ffdhe8192", 8192},
	{0x0016, "secp256k1", 256},
	{0x0015, "secp224r1", 224},
	{0x0014, "secp224k1", 224},
	{0x0013, "secp192r1", 192},
	{0x0012, "secp192k1", 192},
	{0x0011, "secp160r2", 160},
	{0x0010, "secp160r1", 160},
	{0x000f, "secp160k1", 160},
	{0x000e, "sect571r1", 571},
	{0x000d, "sect571k1", 571},
	{0x000c, "sect409r1", 409},
	{0x000b, "sect409k1", 409},
	{0x000a, "sect283r1", 283},
	{0x0009, "sect283k1", 283},
	{0x0008, "sect239k1", 239},
	{0x0007, "sect233r1", 233},
	{0x0006, "sect233k1", 233},
	{0x0005, "sect193r2", 193},
	{0x0004, "sect193r1", 193},
	{0x0003, "sect163r2", 163},
	{0x0002, "sect163r1", 163},
	{0x0001, "sect163k1", 163},
}

// GroupByID names a group code point.
func GroupByID(id uint16) Group {
	for _, g := range groups {
		if g.ID == id {
			return g
		}
	}
	return Group{ID: id, Name: fmt.Sprintf("group-0x%04x", id)}
}

func groupIDs(ffdhe bool) []uint16 {
	var ids []uint16
	for _, g := range groups {
		if !ffdhe && g.ID >= 0x0100 && g.ID <= 0x01ff {
			continue
		}
		ids = append(ids, g.ID)
	}
	return ids
}

// signatureSchemes is a broad signature_algorithms list, including legacy
// SHA-1, SHA-224 and MD5 pairs so that no server refuses for lack of them.
var signatureSchemes = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa sha256/384/512
	0x0807, 0x0808, // ed25519, ed448
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae
	0x0809, 0x080a, 0x080b, // rsa_pss_pss
	0x0401, 0x0501, 0x0601, // rsa_pkcs1
	0x081a, 0x081b, 0x081c, // ecdsa brainpool tls13
	0x0402, 0x0502, 0x0602, // dsa
	0x0301, 0x0302, 0x0303, // sha224
	0x0201, 0x0202, 0x0203, // sha1
	0x0101, 0x0102, 0x0103, // md5
}

// GroupByName finds a group by the name GroupByID gives it (the curve
// names in AcceptedSuite.Curve and GroupResult), with its size in Bits;
// ok is false for a name the table lacks.
func GroupByName(name string) (g Group, ok bool) {
	for _, g := range groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}
