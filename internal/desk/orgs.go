package desk

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

// SettingDefaultOrg names the setting holding the default organisation's id.
const SettingDefaultOrg = "default_org"

// DefaultOrg returns the installation's default organisation: the one users
// and tickets belong to when nothing else is said.
func DefaultOrg(ctx context.Context, tx Tx) (Organisation, error) {
	v, err := tx.Setting(ctx, SettingDefaultOrg)
	if err != nil {
		if IsNotFound(err) {
			return Organisation{}, Errorf(EInternal, "no default organisation: the database was not initialised")
		}
		return Organisation{}, err
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return Organisation{}, Errorf(EInternal, "bad default organisation setting %q", v)
	}
	return tx.OrgByID(ctx, id)
}

// Bootstrap makes sure a fresh installation has a default organisation with
// its triage queue. It is idempotent and runs at every start.
func (d *Desk) Bootstrap(ctx context.Context) error {
	return d.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Setting(ctx, SettingDefaultOrg); err == nil {
			return nil
		} else if !IsNotFound(err) {
			return err
		}
		o := Organisation{Code: "ente", Name: "Ente", Created: d.Now()}
		if existing, err := tx.OrgByCode(ctx, o.Code); err == nil {
			o = existing
		} else if err := d.createOrg(ctx, tx, &o); err != nil {
			return err
		}
		return tx.SetSetting(ctx, SettingDefaultOrg, strconv.FormatInt(o.ID, 10))
	})
}

var codeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidCode reports whether s is a usable code for organisations, queues and services.
func ValidCode(s string) bool { return codeRE.MatchString(s) }

// NewOrg is the input to CreateOrg.
type NewOrg struct {
	Code, Name, Province, Parent string
	Default                      bool
}

// CreateOrg creates an organisation with its triage queue, optionally making
// it the default. Only installation administrators may do it.
func (d *Desk) CreateOrg(ctx context.Context, a Actor, in NewOrg) (Organisation, error) {
	if !(a.System || a.InstallationAdmin) {
		return Organisation{}, Errorf(EForbidden, "only installation administrators manage organisations")
	}
	if !ValidCode(in.Code) {
		return Organisation{}, FieldError("code", "code must be lower-case letters, digits and dashes")
	}
	name, err := cleanText("name", cleanLine(in.Name), 300, true)
	if err != nil {
		return Organisation{}, err
	}
	var o Organisation
	err = d.store.Update(ctx, func(tx Tx) error {
		var parent int64
		if in.Parent != "" {
			p, err := tx.OrgByCode(ctx, in.Parent)
			if err != nil {
				return FieldError("parent", "unknown organisation %q", in.Parent)
			}
			parent = p.ID
		}
		o, err = tx.OrgByCode(ctx, in.Code)
		switch {
		case IsNotFound(err):
			o = Organisation{Code: in.Code, Name: name, Province: strings.ToUpper(in.Province), ParentID: parent, Created: d.Now()}
			if err := d.createOrg(ctx, tx, &o); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			return Errorf(EConflict, "organisation %s already exists", in.Code)
		}
		if in.Default {
			if err := tx.SetSetting(ctx, SettingDefaultOrg, strconv.FormatInt(o.ID, 10)); err != nil {
				return err
			}
		}
		return d.auditAdmin(ctx, tx, a, o.ID, "org.create", "org:"+o.Code, o.Name)
	})
	return o, err
}

func (d *Desk) createOrg(ctx context.Context, tx Tx, o *Organisation) error {
	if err := tx.CreateOrg(ctx, o); err != nil {
		return err
	}
	return tx.CreateQueue(ctx, &Queue{OrgID: o.ID, Code: DefaultTriage, Name: "Smistamento"})
}
