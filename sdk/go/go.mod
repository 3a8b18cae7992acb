module github.com/loadwright/loadwright/sdk/go

go 1.24
