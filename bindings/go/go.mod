module baton/bindings/go

go 1.21
