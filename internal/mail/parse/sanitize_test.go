package parse

import (
	"strings"
	"testing"
)

func TestSanitizeRemovesDangerousContent(t *testing.T) {
	vectors := []string{
		`<script>alert(1)</script>`,
		`<SCRIPT SRC=https://evil.example.com/x.js></SCRIPT>`,
		`<img src=x onerror=alert(1)>`,
		`<body onload=alert(1)>`,
		`<a href="javascript:alert(1)">x</a>`,
		`<a href="  JAVASCRIPT:alert(1)">x</a>`,
		`<a href="java&#x09;script:alert(1)">x</a>`,
		`<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>`,
		`<a href="vbscript:msgbox(1)">x</a>`,
		`<a href="data:text/html,<script>alert(1)</script>">x</a>`,
		`<iframe src="https://evil.example.com"></iframe>`,
		`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
		`<form action="https://evil.example.com"><input name=p><button>ok</button></form>`,
		`<object data="x.swf"></object><embed src="x.swf">`,
		`<svg><script>alert(1)</script></svg>`,
		`<svg onload=alert(1)>`,
		`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
		`<p style="width: expression(alert(1))">x</p>`,
		`<p style="background-image: url(javascript:alert(1))">x</p>`,
		`<div style="behavior: url(x.htc)">x</div>`,
		`<style>@import 'https://evil.example.com/x.css';</style>`,
		`<link rel=stylesheet href="https://evil.example.com/x.css">`,
		`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
		`<base href="javascript:alert(1)//">`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<img src="jav&#x0A;ascript:alert(1)">`,
		`<a href="#" onclick="alert(1)" onmouseover="alert(2)">x</a>`,
		`<img src="x" style="x:expression(alert(1))">`,
		`<table background="javascript:alert(1)"><tr><td>x</td></tr></table>`,
		`<isindex type=image src=1 onerror=alert(1)>`,
		`<video><source onerror="alert(1)"></video>`,
		`<details open ontoggle=alert(1)>`,
		`<template><script>alert(1)</script></template>`,
		`<xmp><img src=x onerror=alert(1)></xmp>`,
		`<plaintext><img src=x onerror=alert(1)>`,
		`<a href="cid:x" onclick="alert(1)">x</a>`,
	}
	for _, v := range vectors {
		for _, cid := range []func(string) string{nil, cidURL} {
			got := Sanitize(v, cid)
			checkSafeHTML(t, got)
			if strings.Contains(got, "evil.example.com") {
				t.Errorf("Sanitize(%q) = %q: still refers to evil.example.com", v, got)
			}
		}
	}
}

func TestSanitizeImages(t *testing.T) {
	tests := []struct {
		name, in string
		cid      func(string) string
		want     string
	}{
		{"remote image replaced by alt", `<p><img src="https://tracker.example.com/p.gif" alt="Logo Comune"></p>`, nil, `<p>Logo Comune</p>`},
		{"tracking pixel without alt removed", `<p>a<img src="http://t.example.com/o?u=1" width="1" height="1">b</p>`, nil, `<p>ab</p>`},
		{"protocol-relative image removed", `<img src="//t.example.com/x.png">`, nil, ``},
		{"relative image removed", `<img src="images/x.png" alt="x">`, nil, `x`},
		{"cid rewritten", `<img src="cid:img001@desk" alt="firma">`, cidURL, `<img src="/allegati/img001@desk" alt="firma"/>`},
		{"cid percent-encoded", `<img src="cid:part1.06090408%4001020500.x">`, cidURL, `<img src="/allegati/part1.06090408@01020500.x"/>`},
		{"cid upper case scheme", `<img src="CID:abc">`, cidURL, `<img src="/allegati/abc"/>`},
		{"cid without mapper dropped", `<img src="cid:img001@desk" alt="firma">`, nil, `firma`},
		{"cid mapper returning empty", `<img src="cid:img001@desk">`, func(string) string { return "" }, ``},
		{"cid mapper returning javascript", `<img src="cid:a">`, func(string) string { return "javascript:alert(1)" }, ``},
		{"cid mapper returning absolute https", `<img src="cid:a">`, func(id string) string { return "https://desk.example.it/att/" + id }, `<img src="https://desk.example.it/att/a"/>`},
		{"cid link rewritten", `<a href="cid:doc1">modulo</a>`, cidURL, `<a href="/allegati/doc1" rel="nofollow noreferrer">modulo</a>`},
		{"cid link without mapper loses href", `<a href="cid:doc1">modulo</a>`, nil, `<a rel="nofollow noreferrer">modulo</a>`},
		{"data png kept", `<img src="data:image/png;base64,iVBORw0KGgo=">`, nil, `<img src="data:image/png;base64,iVBORw0KGgo="/>`},
		{"data svg dropped", `<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="s">`, nil, `s`},
		{"no images untouched", `<p>Buongiorno <b>Mario</b></p>`, nil, `<p>Buongiorno <b>Mario</b></p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in, tt.cid); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSanitizeKeepsMailFormatting(t *testing.T) {
	in := `<html><head><title>t</title></head><body>` +
		`<p align="center" style="color:#333;font-family:Calibri, sans-serif;font-size:11pt;margin:0">Gentile <b>utente</b>,</p>` +
		`<table border="1" cellpadding="2"><tr><td align="left">BDNA</td></tr></table>` +
		`<blockquote>citazione</blockquote><ul><li>uno</li></ul>` +
		`<font color="red">rosso</font><a href="https://desk.example.it/manuale">manuale</a></body></html>`
	got := Sanitize(in, nil)
	for _, want := range []string{
		`<p align="center" style="color: #333; font-family: Calibri, sans-serif; font-size: 11pt">Gentile <b>utente</b>,</p>`,
		`<table border="1" cellpadding="2">`, `<td align="left">BDNA</td>`,
		`<blockquote>citazione</blockquote>`, `<li>uno</li>`, `<font color="red">rosso</font>`,
		`<a href="https://desk.example.it/manuale" rel="nofollow noreferrer noopener" target="_blank">manuale</a>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Sanitize lost %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<title") || strings.Contains(got, "margin") {
		t.Errorf("Sanitize kept title or margin:\n%s", got)
	}
}

func TestSanitizeInvalidUTF8(t *testing.T) {
	got := Sanitize("<p>perch\xe9</p>", nil)
	if got != "<p>perché</p>" {
		t.Errorf("got %q", got)
	}
}
