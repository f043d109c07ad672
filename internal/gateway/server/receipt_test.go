package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hardgate/hardgate/internal/gateway/queue"
)

func TestAppendReceiptMatchesJSONMarshal(t *testing.T) {
	tests := []struct {
		name string
		rc   Receipt
	}{
		{"a queue id is written as is", Receipt{BatchID: queue.NewID(time.Unix(1_700_000_000, 0)), Records: 1}},
		{"many records are written in decimal", Receipt{BatchID: "01HZY3G7J8K9M0N1P2Q3R4S5T6", Records: 123456}},
		{"an id with quotes and markup is escaped like json.Marshal does", Receipt{BatchID: `a"b<c>&\d` + "\n\u2028é", Records: 2}},
		{"an empty id still yields valid JSON", Receipt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.rc)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			if got := appendReceipt(nil, tt.rc); string(got) != string(want) {
				t.Errorf("appendReceipt = %q, want %q", got, want)
			}
		})
	}
}

func FuzzAppendReceipt(f *testing.F) {
	f.Add("01HZY3G7J8K9M0N1P2Q3R4S5T6", 1)
	f.Add(`<"\`, -5)
	f.Fuzz(func(t *testing.T, id string, records int) {
		rc := Receipt{BatchID: id, Records: records}
		want, err := json.Marshal(rc)
		if err != nil {
			t.Skip()
		}
		want = append(want, '\n')
		if got := appendReceipt(nil, rc); string(got) != string(want) {
			t.Errorf("appendReceipt = %q, want %q", got, want)
		}
	})
}
