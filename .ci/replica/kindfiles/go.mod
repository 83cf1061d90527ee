// Writes kind's default CNI and storage manifests from kind's module source (standard library only).
module streamforge.local/ci/replica-kindfiles

go 1.26.0
