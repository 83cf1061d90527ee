// Stand-in for kind's kindnetd (its source is not on the Go module proxy): standard library only.
module streamforge.local/ci/replica-kindnetd

go 1.26.0
