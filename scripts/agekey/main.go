// Command agekey writes a new age identity to the file named by its argument (mode 0600,
// in the format of age-keygen and sops's keys.txt) and prints its public key. The demo uses
// it so that it needs nothing but Go; consultants use age-keygen.
package main

import (
	"fmt"
	"os"
	"time"

	"filippo.io/age"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: agekey FILE")
		os.Exit(2)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agekey:", err)
		os.Exit(1)
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := os.WriteFile(os.Args[1], []byte(content), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "agekey:", err)
		os.Exit(1)
	}
	fmt.Println(id.Recipient())
}
