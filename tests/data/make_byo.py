"""Writes tests/data/byo/: the five corpus articles as saved web pages, a JSONL export, a CSV export and
a few broken files, for the reader tests and benchmarks/extraction.py.

The article paragraphs come from corpus/*.md (the hand-cleaned bodies); everything around them is page
furniture in the style of the seeds' sites (tests/data/seeds/002 and 003 show it as text): cookie banners,
menus, share bars, inline "RELATED NEWS" links, photo captions, newsletter boxes, "Read Full Story"
teasers, reader comments, footers, scripts and JSON-LD. Dates, URLs (on .example hosts) and bylines are
invented for the tests, consistent with the corpus dates; they describe no real page.

Run once from the repository root; the output is committed:

    .venv/bin/python tests/data/make_byo.py
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
OUT = ROOT / "tests" / "data" / "byo"

META = {
    "havering-rated-inadequate": {
        "site": "Romford Recorder", "author": "Staff reporter",
        "url": "https://www.romfordrecorder.example/news/24052317.damning-ofsted-report-havering-childrens-services/",
        "iso": "2024-01-12T16:05:00+00:00", "human": "12 January 2024",
    },
    "havering-significantly-improved-good": {
        "site": "Children First", "author": "Editorial Team",
        "url": "https://www.childrenfirst.example/news/havering-childrens-services-significantly-improved/",
        "iso": "2018-08-03T09:12:44+00:00", "human": "3 August 2018",
    },
    "havering-child-protection-adequate": {
        "site": "Havering Council", "author": None,
        "url": "https://www.havering.example/news/article/1234/child_protection_services_rated_adequate",
        "iso": "2012-03-27", "human": "27 March 2012",
    },
    "havering-improvement-update": {
        "site": "Havering Council", "author": None,
        "url": "https://www.havering.example/news/article/2291/update_on_childrens_social_care_improvements",
        "iso": "2024-12-18T12:00:00Z", "human": "December 2024",
    },
    "havering-referral-assessment-praised": {
        "site": "Romford Recorder", "author": "Staff reporter",
        "url": "https://www.romfordrecorder.example/news/ofsted_praises_havering_s_management_of_cases_1_512345",
        "iso": "2010-06-24", "human": "June 24, 2010",
    },
}


def load(article_id: str) -> tuple[str, str]:
    raw = (CORPUS / f"{article_id}.md").read_text("utf-8")
    _, front, body = raw.split("---\n", 2)
    return yaml.safe_load(front)["title"], body


def blocks(body: str) -> list[tuple[str, object]]:
    """("p", text) and ("ul", [items]) blocks of a corpus body (one line of 004 is one paragraph)."""
    out: list[tuple[str, object]] = []
    for block in re.split(r"\n\s*\n", body.strip("\n")):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if lines and all(ln.lstrip().startswith("•") for ln in lines):
            out.append(("ul", [ln.lstrip()[1:].strip() for ln in lines]))
        else:
            out += [("p", ln.strip()) for ln in lines]
    return out


def render(bs, *, p="<p>{}</p>", ul="<ul>\n{}\n</ul>", li="  <li>{}</li>", sep="\n") -> list[str]:
    parts = []
    for kind, value in bs:
        if kind == "p":
            parts.append(p.format(html.escape(value, quote=False)))
        else:
            parts.append(ul.format("\n".join(li.format(html.escape(v, quote=False)) for v in value)))
    return parts


def ld(data) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False, indent=1)}</script>'


ANALYTICS = """<script async src="https://www.googletagmanager.example/gtag/js?id=G-TEST123"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-TEST123', {'anonymize_ip': true});
</script>"""

COOKIES = """<div id="onetrust-banner-sdk" class="otFlat" role="dialog" aria-label="Cookie banner">
  <div class="ot-sdk-container"><p id="onetrust-policy-text">We and our partners use cookies and similar
  technologies to store and access information on your device, to personalise ads and content, measure
  performance and develop our services. You can accept all cookies or manage your preferences at any time
  by visiting our Cookie Policy.</p>
  <button id="onetrust-accept-btn-handler">Accept All Cookies</button>
  <button id="onetrust-pc-btn-handler">Manage Preferences</button></div>
</div>"""


def page_recorder_2024(article_id: str) -> str:
    """Newsquest-style article page: furniture inside the article body, as on the seed 003 page."""
    m = META[article_id]
    title, body = load(article_id)
    parts = render(blocks(body))
    related = ('<p class="related-article"><strong>RELATED NEWS: </strong><a href="https://www.romfordrecorder'
               '.example/news/24049981.havering-council-rows-back-car-parking-charge-hikes/">Havering Council '
               'rows back on car parking charge hikes</a></p>')
    figure = ('<figure class="article-image"><img src="/resources/images/17627711/" alt="Romford Recorder: Oscar '
              'Ford, responding to the Ofsted rating, said the council was sorry some children and young people have '
              'had to wait too long for support" loading="lazy"><figcaption>Oscar Ford, responding to the Ofsted '
              'rating, said the council was sorry some children and young people have had to wait too long for '
              'support <span class="credit">(Image: Havering Council)</span></figcaption></figure>')
    more = ('<p class="related-article"><strong>MORE NEWS: </strong><a href="https://www.romfordrecorder.example'
            '/news/24050102.attack-elm-park-station-forced-temporary-closure/">Attack at Elm Park station forced '
            'temporary closure</a></p>')
    ad = '<div class="ad-slot" id="mpu-1"><span class="ad-label">Advertisement</span><script>loadAd("mpu-1")</script></div>'
    newsletter = ('<div class="newsletter-signup"><h3>Get the latest news</h3><p>Sign up to our daily newsletter '
                  'for the top stories from Romford and Havering, straight to your inbox.</p><form><input type="email" '
                  'placeholder="Enter your email"><button>Subscribe</button></form></div>')
    out = []
    for part in parts:
        out.append(part)
        if "led to widespread drift and delay" in part:
            out += [related, figure]
        if "experience and progress of care leavers" in part:
            out.append(ad)
        if "access short breaks" in part:
            out.append(more)
        if "Older vulnerable children were also found" in part:
            out.append(newsletter)
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "datePublished": m["iso"], "dateModified": m["iso"],
            "author": {"@type": "Person", "name": m["author"]},
            "publisher": {"@type": "Organization", "name": m["site"],
                          "logo": {"@type": "ImageObject", "url": "https://www.romfordrecorder.example/logo.png"}},
            "mainEntityOfPage": {"@type": "WebPage", "@id": m["url"]}}
    body_html = "\n".join(out)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} | {m['site']}</title>
<meta name="description" content="{html.escape(blocks(body)[0][1])}">
<meta property="og:type" content="article">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{m['site']}">
<meta property="og:url" content="{m['url']}">
<meta property="article:published_time" content="{m['iso']}">
<meta property="article:section" content="News">
<link rel="canonical" href="{m['url']}">
<link rel="stylesheet" href="/static/css/main.3f2a1.css">
{ld(data)}
{ANALYTICS}
<style>.ad-slot{{min-height:250px}} #onetrust-banner-sdk{{position:fixed;bottom:0}}</style>
</head>
<body class="article-page">
<a class="skip-link" href="#main">Skip to main content</a>
{COOKIES}
<header class="site-header">
  <a class="logo" href="/"><img src="/static/img/romford-recorder.svg" alt="Romford Recorder"></a>
  <nav class="primary-nav" aria-label="Main">
    <ul><li><a href="/news/">News</a></li><li><a href="/sport/">Sport</a></li><li><a href="/whats-on/">What's On</a></li>
    <li><a href="/property/">Property</a></li><li><a href="/jobs/">Jobs</a></li><li><a href="/announcements/">Announcements</a></li>
    <li><a href="/subscribe/">Subscribe</a></li><li><a href="/login/">Sign in</a></li></ul>
  </nav>
  <form class="search" action="/search/"><input name="q" placeholder="Search"><button>Search</button></form>
</header>
<div class="breadcrumbs"><a href="/">Home</a> &gt; <a href="/news/">News</a></div>
<main id="main">
<article class="article">
  <h1 class="article-title">{html.escape(title)}</h1>
  <div class="article-meta">
    <span class="byline">By {m['author']}</span>
    <time datetime="{m['iso']}">{m['human']}</time>
  </div>
  <div class="share-bar"><a href="#">Share</a> <a href="#">Facebook</a> <a href="#">X</a> <a href="#">WhatsApp</a> <a href="#">Email</a></div>
  <div class="article-body" itemprop="articleBody">
{body_html}
  </div>
  <p class="article-tags">Tags: <a href="/tag/ofsted">Ofsted</a> <a href="/tag/havering-council">Havering Council</a></p>
</article>
<section class="comments"><h2>Comments</h2><p>Comments are closed on this article.</p></section>
<aside class="most-read"><h2>Most Read</h2>
  <ol><li><a href="/news/1/">Romford shop owner celebrates 40 years on the high street</a></li>
  <li><a href="/news/2/">Plans for 200 homes at former Hornchurch depot approved</a></li>
  <li><a href="/news/3/">Upminster road closed for three weeks for gas works</a></li></ol>
</aside>
</main>
<footer class="site-footer">
  <p>Romford Recorder is part of a regional news group. Registered in England and Wales.</p>
  <ul><li><a href="/contact/">Contact us</a></li><li><a href="/privacy/">Privacy Policy</a></li>
  <li><a href="/cookies/">Cookie Policy</a></li><li><a href="/terms/">Terms and Conditions</a></li></ul>
  <p>&copy; 2024 Romford Recorder. All rights reserved.</p>
</footer>
<script src="/static/js/app.8c1d.js" defer></script>
<script>window.__CONFIG__ = {{"section": "news", "paywall": false, "ads": {{"provider": "test"}}}};</script>
</body>
</html>
"""


def page_childrenfirst(article_id: str) -> str:
    """WordPress (Yoast) page: campaign banner and menu before, 'Read Full Story' teasers after, as seed 002."""
    m = META[article_id]
    title, body = load(article_id)
    content = "\n".join(render(blocks(body)))
    teasers = [
        ("Reliance on agency staff in Star Hobson authority highlights capacity issues in social work",
         "The “reliance on agency social workers” in the local authority responsible for safeguarding Star Hobson "
         "highlights capacity issues in the social work profession, the Chair of the Child Safeguarding Practice "
         "Review Panel has warned. [...]"),
        ("Unaccompanied children included in Homes for Ukraine scheme",
         "Applications for unaccompanied children from Ukraine are starting to be processed under the Homes for "
         "Ukraine scheme, the government has announced. [...]"),
        ("Ofsted consults on introducing a judgement in inspections on progress for care leavers",
         "Ofsted has launched a consultation on proposals to include a new judgement on the experiences and "
         "progress of care leavers in the local authority children’s services (ILACS) inspection framework. [...]"),
    ]
    teaser_html = "\n".join(
        f'<div class="kr-post"><h3><a href="/news/{i}/">{html.escape(t)}</a></h3><p>{html.escape(x)}</p>'
        f'<a class="read-more" href="/news/{i}/">Read Full Story</a></div>' for i, (t, x) in enumerate(teasers))
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "Organization", "@id": "https://www.childrenfirst.example/#organization", "name": m["site"],
         "url": "https://www.childrenfirst.example/"},
        {"@type": "WebSite", "@id": "https://www.childrenfirst.example/#website", "name": m["site"],
         "publisher": {"@id": "https://www.childrenfirst.example/#organization"}},
        {"@type": "WebPage", "@id": m["url"], "url": m["url"], "name": f"{title} - {m['site']}",
         "datePublished": m["iso"]},
        {"@type": "Article", "@id": m["url"] + "#article", "headline": title, "datePublished": m["iso"],
         "dateModified": "2019-01-15T10:00:00+00:00", "author": {"@type": "Person", "name": m["author"]},
         "publisher": {"@id": "https://www.childrenfirst.example/#organization"},
         "mainEntityOfPage": {"@id": m["url"]}},
    ]}
    return f"""<!DOCTYPE html>
<html lang="en-GB" class="no-js">
<head>
<meta charset="UTF-8">
<title>{html.escape(title)} - {m['site']}</title>
<meta name="robots" content="index, follow">
<link rel="canonical" href="{m['url']}">
<meta property="og:locale" content="en_GB">
<meta property="og:type" content="article">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:url" content="{m['url']}">
<meta property="og:site_name" content="{m['site']}">
<meta property="article:published_time" content="{m['iso']}">
<meta property="article:modified_time" content="2019-01-15T10:00:00+00:00">
<meta name="author" content="{m['author']}">
{ld(graph)}
<link rel="stylesheet" id="theme-css" href="/wp-content/themes/cf/style.css?ver=5.8" type="text/css">
<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.6.0" id="jquery-core-js"></script>
{ANALYTICS}
</head>
<body class="post-template-default single single-post">
<div class="campaign-banner"><p>Support the #Respect4SocialWork campaign today and celebrate the social work profession.</p></div>
<div class="top-bar"><a class="button" href="/enquiry/">Make an Enquiry</a> <a class="button" href="/contact/">Contact Us</a></div>
<header id="masthead"><div class="site-branding"><a href="/"><img src="/logo.png" alt="Children First"></a></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li><a href="/">Home</a></li><li><a href="/news/">News</a></li><li><a href="/features/">Features</a></li>
<li><a href="/interviews/">Interviews</a></li><li><a href="/events/">Events</a></li><li><a href="/jobs/">Jobs</a></li>
</ul></nav></header>
<div id="content" class="site-content">
<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-8812" class="post-8812 post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{html.escape(title)}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time class="entry-date published" datetime="{m['iso']}">{m['human']}</time></span>
<span class="byline"> by <span class="author vcard"><a href="/author/editorial/">{m['author']}</a></span></span></div></header>
<div class="entry-content">
{content}
<p><a href="https://reports.ofsted.example/provider/44/80556">Inspection of Havering</a></p>
<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline"><em>Related</em></h3>
<div class="jp-relatedposts-items">
<div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title"><a href="/news/ofsted-annual-report/">Ofsted annual report finds more councils rated good</a></h4>
<p class="jp-relatedposts-post-date">12 March 2018</p><p class="jp-relatedposts-post-context">In "News"</p></div>
<div class="jp-relatedposts-post"><h4 class="jp-relatedposts-post-title"><a href="/news/social-worker-caseloads/">Survey: social worker caseloads still too high</a></h4>
<p class="jp-relatedposts-post-date">2 May 2018</p><p class="jp-relatedposts-post-context">In "Features"</p></div>
</div></div>
</div>
<div class="author-box"><h4>About the author</h4><p>The Children First editorial team covers news, policy and practice for
professionals working with children and families.</p></div>
<footer class="entry-footer"><div class="sharedaddy"><h3>Share this:</h3><ul><li><a href="#">Twitter</a></li>
<li><a href="#">Facebook</a></li><li><a href="#">LinkedIn</a></li></ul></div></footer>
</article>
</main></div>
<aside id="secondary" class="widget-area">
<section class="widget kr-widget"><h2 class="widget-title">Knowledge &amp; Resources</h2>
<p>Keep abreast of the latest news in the children's services sector.</p>
{teaser_html}
</section>
</aside>
</div>
<footer id="colophon" class="site-footer">
<p>Children First is an online resource for professionals working with children presented by WillisPalmer, providing you with the latest news, features and interviews.</p>
<p><a href="/subscribe/">Subscribe Today</a></p>
<p><img src="/wp-q.png" alt="WP Quality Assured"> WP Quality Assured</p>
<p>A Mackman Group collaboration - market research by Mackman Research | website design by Mackman</p>
<ul class="social"><li>linkedin</li><li>facebook</li><li>pinterest</li><li>youtube</li><li>rss</li><li>twitter</li><li>instagram</li></ul>
</footer>
<script id="cf-main-js" src="/wp-content/themes/cf/js/main.js?ver=1.2"></script>
</body>
</html>
"""


def council_shell(title: str, main_html: str, head_extra: str, *, legacy: bool) -> str:
    nav = """<nav class="site-nav" aria-label="Main menu"><ul>
<li><a href="/bins">Bins and recycling</a></li><li><a href="/council-tax">Council tax</a></li>
<li><a href="/parking">Parking</a></li><li><a href="/housing">Housing</a></li>
<li><a href="/schools">Schools and education</a></li><li><a href="/social-care">Adult social care</a></li>
<li><a href="/children">Children and families</a></li><li><a href="/news">News</a></li></ul></nav>"""
    cookie = """<div class="cookie-notice" id="cookie-notice"><h2>Cookies on the Havering Council website</h2>
<p>We use some essential cookies to make this website work. We'd like to set additional cookies to understand how
you use the site and to improve our services.</p><button>Accept additional cookies</button>
<button>Reject additional cookies</button> <a href="/cookies">View cookies</a></div>"""
    footer = """<footer class="site-footer"><div class="footer-links"><ul>
<li><a href="/contact">Contact us</a></li><li><a href="/accessibility">Accessibility statement</a></li>
<li><a href="/privacy">Privacy notice</a></li><li><a href="/jobs">Jobs at the council</a></li></ul></div>
<p>London Borough of Havering, Town Hall, Main Road, Romford RM1 3BD</p>
<p>&copy; London Borough of Havering</p></footer>"""
    doctype = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
               '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" '
               'xml:lang="en" lang="en">' if legacy else '<!DOCTYPE html>\n<html lang="en">')
    charset = ('<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />' if legacy
               else '<meta charset="utf-8">')
    return f"""{doctype}
<head>
{charset}
<title>{html.escape(title)} | Havering Council</title>
{head_extra}
<link rel="stylesheet" type="text/css" href="/site/styles/havering.css" />
<script type="text/javascript" src="/site/scripts/jquery.js"></script>
{ANALYTICS}
</head>
<body>
<a href="#content" class="skip">Skip to main content</a>
{cookie}
<header class="masthead"><a href="/"><img src="/site/images/havering-logo.png" alt="Havering Council - London Borough of Havering" /></a>
<form class="site-search" action="/search"><label for="q">Search this site</label><input id="q" name="q" /><button>Search</button></form>
<a class="account" href="/myaccount">My account</a></header>
{nav}
<div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news">News</a> &gt; {html.escape(title)}</div>
<div id="content" class="content">
{main_html}
</div>
{footer}
<script type="text/javascript">var _siteimprove = _siteimprove || []; (function() {{ var sz = document.createElement('script'); sz.async = true; }})();</script>
</body>
</html>
"""


def page_council_2012(article_id: str) -> str:
    m = META[article_id]
    title, body = load(article_id)
    paras = "\n".join(render(blocks(body)))
    main = f"""<div class="news-article">
<h1>{html.escape(title)}</h1>
<p class="date">Published: {m['human']}</p>
{paras}
<div class="related-links"><h2>Related links</h2><ul>
<li><a href="/children/safeguarding">Safeguarding children in Havering</a></li>
<li><a href="/lscb">Havering Safeguarding Children Board</a></li>
<li><a href="/news/archive">News archive</a></li></ul></div>
<p class="page-tools"><a href="#" onclick="window.print()">Print this page</a> | <a href="/share">Share</a></p>
<p class="last-updated">Page last updated: 28 March 2012</p>
<div class="feedback"><h2>Was this page helpful?</h2><a href="/feedback?yes">Yes</a> <a href="/feedback?no">No</a></div>
</div>"""
    head = f"""<meta name="DC.title" content="{html.escape(title)}" />
<meta name="DC.date.issued" content="{m['iso']}" />
<meta name="DC.publisher" content="{m['site']}" />
<meta name="DC.language" content="en" />
<link rel="canonical" href="{m['url']}" />"""
    return council_shell(title, main, head, legacy=True)


def page_council_2024(article_id: str) -> str:
    m = META[article_id]
    title, body = load(article_id)
    paras = "\n".join(render(blocks(body)))
    main = f"""<main class="main"><article class="node node--type-news">
<h1 class="page-title">{html.escape(title)}</h1>
<div class="published">Published <time datetime="{m['iso']}">18 December 2024</time></div>
<div class="field--name-body">
{paras}
</div>
<div class="callout"><p><strong>Did you know?</strong> You can report a concern about a child to the
Children's Services front door on 01708 000001, 24 hours a day.</p></div>
<h2>Related news</h2>
<ul class="related-news"><li><a href="/news/article/2250/">Council budget consultation opens</a></li>
<li><a href="/news/article/2264/">New foster carers welcomed at celebration event</a></li></ul>
<div class="press-contact"><h2>Media enquiries</h2><p>Contact the communications team on 01708 000000 or
email press@havering.example</p></div>
<div class="share"><h2>Share this page</h2><a href="#">Facebook</a> <a href="#">X</a> <a href="#">LinkedIn</a></div>
</article></main>"""
    head = f"""<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{m['site']}">
<meta property="og:type" content="article">
<meta property="og:url" content="{m['url']}">
<link rel="canonical" href="{m['url']}">"""
    return council_shell(title, main, head, legacy=False)


def page_recorder_2010(article_id: str) -> str:
    """An old-CMS page saved with a .md name: paragraphs split by <br><br>, reader comments, no JSON-LD."""
    m = META[article_id]
    title, body = load(article_id)
    story = "<br /><br />\n".join(html.escape(v, quote=False) for k, v in blocks(body) if k == "p")
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>{html.escape(title)} - News - Romford Recorder</title>
<meta name="pubdate" content="{m['iso'].replace('-', '')}" />
<meta name="publisher" content="{m['site']}" />
<meta name="keywords" content="Havering, Ofsted, children's services" />
<link rel="canonical" href="{m['url']}" />
<script type="text/javascript">var OAS_sitepage = 'romfordrecorder/news'; var OAS_listpos = 'Top,Right';</script>
<script type="text/javascript" src="/js/oas.js"></script>
</head>
<body>
<div id="wrapper">
<div id="header"><img src="/images/logo.gif" alt="Romford Recorder" />
<ul id="topnav"><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li><li><a href="/business">Business</a></li>
<li><a href="/entertainment">Entertainment</a></li><li><a href="/motoring">Motoring</a></li><li><a href="/property">Property</a></li></ul>
<div class="weather">Romford 18&deg;C Sunny</div></div>
<div id="leftcol">
<div id="story">
<h1>{html.escape(title)}</h1>
<p class="storydate">{m['human']}</p>
<div class="storyimage"><img src="/images/townhall.jpg" alt="Havering Town Hall" /><p class="caption">Havering Town Hall in Romford. Picture: Archive</p></div>
<p class="storytext">
{story}
</p>
<div class="storytools"><a href="#">Print</a> | <a href="#">Email this story</a> | <a href="#">Comment</a></div>
</div>
<div id="comments"><h3>Reader comments</h3>
<div class="comment"><p class="commentby">posted by Concerned parent, Romford</p>
<p>Good to see some praise for once, but I will believe it when I see it. My neighbour waited months for a social worker.</p></div>
<div class="comment"><p class="commentby">posted by Hornchurch resident</p>
<p>Well done to the staff, they do a difficult job with very little thanks.</p></div>
<p><a href="#">Add your comment</a></p></div>
</div>
<div id="rightcol"><div class="advert"><script type="text/javascript">OAS_AD('Right');</script></div>
<h3>Most Viewed</h3><ol><li><a href="/news/a">Market traders protest over rent rise</a></li>
<li><a href="/news/b">Gidea Park fun run raises &pound;10,000</a></li></ol></div>
<div id="footer"><p>&copy; Archant Community Media Ltd 2010</p><p><a href="/terms">Terms</a> | <a href="/privacy">Privacy</a> | <a href="/contact">Contact</a></p></div>
</div>
</body>
</html>
"""


PAGES = {
    "havering-rated-inadequate.html": ("havering-rated-inadequate", page_recorder_2024),
    "havering-significantly-improved-good.html": ("havering-significantly-improved-good", page_childrenfirst),
    "havering-child-protection-adequate.htm": ("havering-child-protection-adequate", page_council_2012),
    "havering-improvement-update.html": ("havering-improvement-update", page_council_2024),
    # a page saved under a Markdown name: the reader must recognise it as HTML
    "havering-referral-assessment-praised.md": ("havering-referral-assessment-praised", page_recorder_2010),
}


def paragraphs_html(body: str) -> str:
    return "".join(f"<p>{html.escape(v, quote=False)}</p>" if k == "p" else
                   "<ul>" + "".join(f"<li>{html.escape(i, quote=False)}</li>" for i in v) + "</ul>"
                   for k, v in blocks(body))


def exports() -> tuple[str, str]:
    lines, rows = [], []
    for article_id, m in META.items():
        title, body = load(article_id)
        # A CMS export: two records carry their body as HTML, the others as plain text.
        as_html = article_id in ("havering-rated-inadequate", "havering-improvement-update")
        lines.append(json.dumps({
            "id": article_id, "headline": title,
            "body": paragraphs_html(body) if as_html else body.strip("\n"),
            "publishedAt": m["iso"], "url": m["url"], "source": {"id": None, "name": m["site"]},
            "byline": m["author"],
        }, ensure_ascii=False))
        rows.append({"slug": article_id, "title": title, "story": body.strip("\n"), "published": m["human"],
                     "link": m["url"], "publisher": m["site"], "author": m["author"] or ""})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\n".join(lines) + "\n", buf.getvalue()


COLLECTION = """# The test collection of tests/data/make_byo.py (see tests/data/byo/README.md).
title: "Bring your own articles: test pages"
examples:
  - "What rating did Ofsted give Havering's children's services?"
# articles.csv names its body column 'story', which is not one of the usual names:
fields:
  text: story
max_chars: 200000
"""

README = """# A test collection: bring your own articles

Written by `tests/data/make_byo.py` (run it again to regenerate). The five corpus articles as saved web
pages with page furniture (one saved with a `.md` name), the same five in a JSONL export (`articles.jsonl`)
and a CSV export (`articles.csv`, whose body column `story` is mapped in `collection.yaml`), one page saved
twice (`old-site/`), the assets folder a browser saves beside a page, and broken files: an empty file,
a binary file, UTF-16 without a byte-order mark, bad front matter, a list as a title, an export with
no readable record, and a PDF. Dates, URLs (on `.example` hosts) and bylines are invented for the tests.

This README is not an article: the reader ignores README files.
"""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (article_id, make) in PAGES.items():
        (OUT / name).write_text(make(article_id), "utf-8")
    (OUT / "old-site").mkdir(exist_ok=True)
    (OUT / "old-site" / "havering-rated-inadequate.html").write_text(
        page_recorder_2024("havering-rated-inadequate"), "utf-8")
    assets = OUT / "havering-improvement-update_files"
    assets.mkdir(exist_ok=True)
    (assets / "havering.css").write_text("body { font-family: sans-serif; }\n", "utf-8")
    (assets / "jquery.js").write_text("/* jQuery placeholder */\n", "utf-8")
    jsonl, csv_text = exports()
    (OUT / "articles.jsonl").write_text(jsonl, "utf-8")
    (OUT / "articles.csv").write_text(csv_text, "utf-8", newline="")
    (OUT / "collection.yaml").write_text(COLLECTION, "utf-8")
    (OUT / "README.md").write_text(README, "utf-8")
    # broken files
    (OUT / "notes.txt").write_bytes(b"")
    (OUT / "scan.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (OUT / "utf16-no-bom.txt").write_bytes("Council meeting notes\n\nThe committee met on Tuesday.\n".encode("utf-16-le"))
    (OUT / "bad-front-matter.md").write_text("---\ntitle: Budget: the figures\ndate: [2024\n---\nBody text.\n", "utf-8")
    (OUT / "title-list.md").write_text("---\ntitle: [Council, budget]\ndate: 2024-03\n---\nBody text.\n", "utf-8")
    (OUT / "broken-export.jsonl").write_text(
        '{"id": "x1", "title": "Cut off\n'
        '{"id": "x2", "title": "No body here", "date": "2024-02-01"}\n'
        '{"id": "x3", "title": "Empty body", "body": "   "}\n', "utf-8")
    (OUT / "minutes.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


if __name__ == "__main__":
    main()
