<?xml version="1.0" encoding="utf-8"?>
<!--
  Shown when a person opens one of our Atom or RSS feeds in a web browser.
  Feed readers ignore it. It explains what a feed is and lists the entries,
  with no scripts and nothing loaded from anywhere else.
-->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
  <xsl:output method="html" version="5.0" encoding="utf-8" indent="yes"
    doctype-system="about:legacy-compat"/>

  <xsl:variable name="title" select="/atom:feed/atom:title | /rss/channel/title"/>
  <xsl:variable name="home"
    select="(/atom:feed/atom:link[not(@rel) or @rel='alternate']/@href | /rss/channel/link)[1]"/>
  <xsl:variable name="subtitle" select="/atom:feed/atom:subtitle | /rss/channel/description"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$title"/> (web feed)</title>
        <!-- The site's icon, so the browser does not ask for a missing /favicon.ico. -->
        <xsl:if test="$home">
          <link rel="icon" href="{$home}theme/img/icon.svg" type="image/svg+xml"/>
        </xsl:if>
        <style>
          :root { --text: #1b1b1f; --muted: #4a4a55; --bg: #fff; --box: #eef3f8; --link: #0b57a4; --focus: #b3430f; }
          @media (prefers-color-scheme: dark) {
            :root { --text: #ececf1; --muted: #c0c0ca; --bg: #16161a; --box: #23262d; --link: #8cc2ff; --focus: #ffb37a; }
          }
          body { margin: 0; font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--bg); }
          main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
          a { color: var(--link); }
          a:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
          .about { background: var(--box); padding: 1rem 1.25rem; border-radius: .5rem; }
          .meta { color: var(--muted); font-size: .9375rem; margin: 0; }
          ol { padding: 0; list-style: none; }
          li { margin: 0 0 1.25rem; }
          h1 { font-size: 1.75rem; line-height: 1.2; }
          h2 { font-size: 1.25rem; }
          h3 { font-size: 1.0625rem; margin: 0; }
          code { overflow-wrap: anywhere; }
        </style>
      </head>
      <body>
        <main>
          <div class="about">
            <p><strong>This is a web feed</strong>, also known as an Atom or RSS feed.
              Subscribe by copying the address of this page into a feed reader app,
              and new posts come to you: no account, no e-mail, nothing to track you.</p>
            <p>New to feeds? Visit <a href="https://aboutfeeds.com/">About Feeds</a>
              to get started. It’s free.</p>
          </div>
          <h1><xsl:value-of select="$title"/></h1>
          <xsl:if test="$subtitle">
            <p><xsl:value-of select="$subtitle"/></p>
          </xsl:if>
          <xsl:if test="$home">
            <p><a href="{$home}">Visit the website</a></p>
          </xsl:if>
          <h2>Recent items</h2>
          <ol>
            <xsl:apply-templates select="/atom:feed/atom:entry | /rss/channel/item"/>
          </ol>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h3><a href="{atom:link[not(@rel) or @rel='alternate'][1]/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <p class="meta">Published <xsl:value-of select="substring(atom:published | atom:updated[not(../atom:published)], 1, 10)"/></p>
    </li>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <p class="meta">Published <xsl:value-of select="pubDate"/></p>
    </li>
  </xsl:template>
</xsl:stylesheet>
