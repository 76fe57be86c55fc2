module baton/examples/stream

go 1.21

require baton/bindings/go v0.0.0

replace baton/bindings/go => ../../bindings/go
