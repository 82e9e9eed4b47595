package main

import "github.com/useitcloud/uicctl/pkg/spec"

type schemaCmd struct{}

func (c *schemaCmd) Run(app *App) error {
	_, err := app.Stdout.Write(spec.JSONSchema())
	return err
}
