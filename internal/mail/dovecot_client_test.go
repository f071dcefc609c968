package mail_test

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

type dovecotClient struct{ c *imapclient.Client }

func dialDovecot(addr, user, pass, folder string) (*dovecotClient, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return &dovecotClient{c}, nil
}

func (d *dovecotClient) unseen() (int, error) {
	data, err := d.c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return 0, err
	}
	return len(data.AllUIDs()), nil
}

func (d *dovecotClient) close() { _ = d.c.Close() }
