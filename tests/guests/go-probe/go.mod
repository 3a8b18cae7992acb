module github.com/loadwright/loadwright/tests/guests/go-probe

go 1.24

require github.com/loadwright/loadwright/sdk/go v0.0.0

replace github.com/loadwright/loadwright/sdk/go => ../../../sdk/go
