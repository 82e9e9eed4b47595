package graph

// tenant is one directory.
type tenant struct {
	ID, Domain string
}
